"""notifier_svc: delivers finished snapshots to the services named in a
snapshot request (mail, Slack, HipChat, Flowdock, Campfire).

    worker.py          pulls DeliveryRequests from JetStream, one task each
    delivery_runner.py attempts, waits and journal entries of one delivery
    delivery_ledger.py the journal in a NATS key-value bucket
    *_notifier.py      one class per destination type (registry.py maps them)
    vendor_http.py     one HTTP exchange with a chat vendor, bounded, and what its answer means
    outbound_policy.py which addresses chat requests may reach (CHARTSNAP_OUTBOUND_ALLOW);
                       guarded_connector.py applies it to every address aiohttp connects to
    retry_policy.py    the time budget of one delivery's retries
    secret_scrub.py    credentials out of errors and logs, in every encoded form
    service.py         builds it all from NotifierSettings (settings.py)
"""
