"""`python -m services.notify`: run the notification service until signalled."""

from services.notify.app import main

if __name__ == "__main__":
    main()
