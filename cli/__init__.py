"""The ``lnob`` command line: wires ``corpus``, ``analysis`` and ``bot`` together."""
