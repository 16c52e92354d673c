"""The shell's routes: sign-in, start page, search, profile, health, administration."""
