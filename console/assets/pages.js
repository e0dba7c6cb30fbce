// One HTML file (staff.html) serves the staff pages; the path picks the page's module.
const PAGES = {
  "/console/assess": "./assess.js",
  "/console/daycare": "./daycare.js",
  "/console/volunteers": "./volunteers.js",
  "/console/providers": "./providers.js",
};
import(PAGES[location.pathname.replace(/\/$/, "")] || "./assess.js");
