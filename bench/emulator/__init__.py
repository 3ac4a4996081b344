"""The bundled local Lambda emulator: a separate process the rest of lambench knows only as an endpoint URL.

Start it with ``lambench emulator --port N`` or ``python -m bench.emulator``. Nothing outside
this package imports from it.
"""
