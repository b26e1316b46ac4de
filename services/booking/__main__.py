"""`python -m services.booking`: run the booking service until signalled."""

from services.booking.app import main

if __name__ == "__main__":
    main()
