"""The API routers, one module per stage; each route parses, calls one stage function, and returns."""
