"""Texts of the waiting-list pages (fi / sv / en), merged into `i18n` (keys it lacks)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str, str]] = {
    "waitlist": ("Jonotus", "Kö", "Waiting list"),
    "join_waitlist": ("Jonota tätä aikaa", "Köa för tiden", "Join the waiting list"),
    "waitlist_intro": (
        "Kun jonottamasi aika vapautuu, ensimmäiselle jonossa varataan se hetkeksi ja "
        "lähetetään sähköpostiin linkki maksamiseen.",
        "När en tid du köar för blir ledig reserveras den en stund åt den första i kön, som "
        "får en länk för att betala per e-post.",
        "When a time you queue for comes free, it is held for a while for the first one in "
        "the queue, who gets a link to pay for it by e-mail.",
    ),
    "no_waitlist": (
        "Et jonota mitään aikaa.",
        "Du köar inte för någon tid.",
        "You are not waiting for any time.",
    ),
    "waitlist_place": ("Sija jonossa", "Plats i kön", "Place in the queue"),
    "offer_held_until": ("Varattu sinulle asti", "Reserverad åt dig till", "Held for you until"),
    "leave_waitlist": ("Poistu jonosta", "Lämna kön", "Leave the queue"),
    "decline_offer": ("En ota aikaa", "Tacka nej", "Decline the offer"),
    "done_waitlist_joined": (
        "Olet jonossa. Saat sähköpostia, kun aika vapautuu.",
        "Du står i kön. Du får e-post när tiden blir ledig.",
        "You are in the queue. You will get an e-mail when the time comes free.",
    ),
    "done_waitlist_left": ("Poistuit jonosta.", "Du lämnade kön.", "You left the queue."),
    "done_offer_declined": (
        "Kieltäydyit ajasta; se tarjotaan seuraavalle.",
        "Du tackade nej; tiden erbjuds nästa i kön.",
        "You declined; the time goes to the next one in the queue.",
    ),
    "state_waiting": ("Jonossa", "I kö", "Waiting"),
    "state_offered": ("Tarjottu sinulle", "Erbjuden dig", "Offered to you"),
    "state_accepted": ("Varattu", "Bokad", "Booked"),
    "state_declined": ("Kieltäydytty", "Avböjd", "Declined"),
    "state_lapsed": ("Tarjous raukesi", "Erbjudandet förföll", "Offer lapsed"),
    "state_left": ("Poistuttu jonosta", "Lämnat kön", "Left the queue"),
    "state_void": (
        "Aika ei enää varattavissa",
        "Tiden kan inte längre bokas",
        "No longer bookable",
    ),
}
