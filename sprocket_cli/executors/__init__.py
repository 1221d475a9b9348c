"""Where tasks run: local processes, inline (tests), and later Lambda and a simulator."""
