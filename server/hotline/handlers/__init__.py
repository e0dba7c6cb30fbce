"""The hotline's HTTP handlers, one module per concept; the URL table is in
``server/hotline/routes.py``. Each handler parses with ``schemas.hotline``, calls one flow and
answers what it returns."""
