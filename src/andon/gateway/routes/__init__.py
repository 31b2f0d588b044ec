"""The gateway's HTTP routes: one module per area, each with an ``APIRouter`` named ``router`` that
``app.create_app`` includes (``health``, ``features``, ``traces``, ``reviews``, ``chat``). A new area is a new
module here, added to the list in ``app.py``."""
