"""The demo page of ``emoclassic serve`` (``index.html``); see :mod:`emoclassic.demo_page`."""
