"""Pure rules of the node agent: key ids, connection links, what to change in Xray."""
