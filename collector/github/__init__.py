"""Everything that talks to GitHub: the API layer (api.py) over the transport client (client.py)."""
