"""How the node agent is driven: the HTTP API and the Xray watcher."""
