"""The identity-platform side of the emulator (login.microsoftonline.com)."""
