"""`python -m services`: the launcher (what `make run` starts)."""

from services.launcher import main

if __name__ == "__main__":
    main()
