"""The ``emoclassic`` command line: thin shells over the library functions."""
