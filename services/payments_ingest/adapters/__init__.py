"""The YooKassa API, through its official SDK."""
