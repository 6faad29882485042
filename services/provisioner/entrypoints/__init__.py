"""How the provisioner is run: the faust worker with its node loops, and the subscription API."""
