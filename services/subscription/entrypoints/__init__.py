"""How the subscription service is run: the faust worker, the read API, the cleanup job."""
