"""`ertui serve`: the console in a browser, through textual-serve.

A front end beside the command line and the console: ``server`` wraps
textual-serve's aiohttp app (one ``ertui`` console process per browser
connection), ``gate`` is the aiohttp middleware and login page in front of
every route, ``auth`` the rules behind it (token, sessions, throttle). Nothing
in the core imports this package.
"""
