"""isolate=True: the parent that starts a fresh worker process, the child that runs there, and the wire format between them."""
