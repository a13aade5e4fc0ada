"""The modal dialogs: their base classes, the MTA form, the Test, Edit Host, Administrator, y/n."""
