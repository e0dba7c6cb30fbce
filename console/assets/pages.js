// One HTML file (staff.html) serves the staff pages; the path picks the page's module.
const PAGES = {
  "/console/assess": "./assess.js",
  "/console/daycare": "./daycare.js",
  "/console/volunteers": "./volunteers.js",
  "/console/reports": "./reports.js",
  "/console/audit": "./audit.js",
  "/console/applications": "./applications.js",
  "/console/meals": "./meals.js",
  "/console/welfare": "./welfare.js",
  "/console/providers": "./providers.js",
};
import(PAGES[location.pathname.replace(/\/$/, "")] || "./assess.js");
