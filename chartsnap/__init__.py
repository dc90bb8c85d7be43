"""Code shared by every chartsnap service: settings, logging, errors, generated stubs."""
