"""Local stand-ins for the services the notifier talks to: Slack, HipChat,
Flowdock and Campfire over HTTP, and an SMTP server. Each behaves like the
vendor's real endpoint (paths, auth, required fields, limits, codes and
bodies), records what it accepted, and can be told to fail."""
