"""The Discord shell: the client, its runtime, command sync, cogs and UI components."""
