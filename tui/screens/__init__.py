"""Modal screens: confirmations, help, and the list of recent jobs to pick from."""
