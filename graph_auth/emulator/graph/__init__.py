"""The Microsoft Graph slice of the emulator (graph.microsoft.com)."""
