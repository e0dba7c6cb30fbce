"""Services: the priced service menu, bookings, recurring visits and meals."""
