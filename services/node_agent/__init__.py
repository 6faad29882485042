"""The node agent ("Country API"): applies Keyland users to the Xray of one country server."""
