"""Period reports: KPIs by month and quarter per station, street and district, and the audit
log's reader."""
