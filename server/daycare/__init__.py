"""Day care (日间托老) at the station: programme, enrolments, daily attendance."""
