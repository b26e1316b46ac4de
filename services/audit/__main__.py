"""`python -m services.audit`: run the audit service until signalled."""

from services.audit.app import main

if __name__ == "__main__":
    main()
