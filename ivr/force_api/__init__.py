"""The forces' face: what a force's Professional Standards Department posts back to
us (replies.py: what it did with a report), signed with its own delivery secret. No
cookie and no sign-in: machines, not people, use it."""
