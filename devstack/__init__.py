"""The whole chartsnap on one machine, for `make run` (`python -m devstack`)
and the test and bench fixtures: it knows every service's module, port and
variables, which is why it is none of the services and not in chartsnap/."""
