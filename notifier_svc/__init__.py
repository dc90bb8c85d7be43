"""notifier_svc: delivers finished snapshots to the services named in a
snapshot request (mail, Slack, HipChat, Flowdock, Campfire).

    worker.py          pulls DeliveryRequests from JetStream, one task each
    delivery_runner.py attempts, waits and journal entries of one delivery
    delivery_ledger.py the journal in a NATS key-value bucket
    *_notifier.py      one class per destination type (registry.py maps them)
    service.py         builds it all from NotifierSettings (settings.py)
"""
