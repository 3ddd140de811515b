"""Sign in with Microsoft (Entra ID) and a ready Microsoft Graph client for Django."""

__version__ = "0.1.0"
