"""How the notifier runs: one faust worker with the consumer, the scheduler, broadcasts."""
