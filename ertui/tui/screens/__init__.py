"""The screens of the console: Mail Settings, the Mail Queue, one message, help."""
