"""The bot's ports to the outside: read API, payments, links, events, FSM storage."""
