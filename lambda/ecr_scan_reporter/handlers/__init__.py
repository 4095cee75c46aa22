"""Lambda entry points: parse the event, call the library, shape the response. Nothing more."""
