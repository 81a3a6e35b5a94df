// Accessibility repairs of the theme's own buttons, menus and logo, which axe-core flags:
// screen readers must hear a name that matches what sighted readers see.
function repairAccessibility() {
  // The colour-mode button: its icons are decoration; its aria-label names it.
  document.querySelectorAll(".theme-switch-button i, .theme-switch-button svg").forEach((icon) => {
    icon.setAttribute("aria-hidden", "true");
    icon.removeAttribute("title");
    icon.querySelectorAll("title").forEach((t) => t.remove());
  });
  // The search field shows "Search Ctrl+K": let that visible text be its name.
  document.querySelectorAll(".search-button-field").forEach((b) => b.removeAttribute("aria-label"));
  // The arrows that open a chapter's sections in the sidebar: name them after the chapter.
  document.querySelectorAll("nav details > summary").forEach((summary) => {
    const link = summary.closest("li") && summary.closest("li").querySelector(":scope > a");
    const chapter = link ? link.textContent.trim() : "this chapter";
    summary.setAttribute("aria-label", `Sections of ${chapter}`);
  });
  // The bibliography is a list: its entries must be list items for assistive technology.
  document.querySelectorAll('.citation-list[role="list"] > .citation').forEach((entry) => {
    entry.setAttribute("role", "listitem");
  });
  // The logo above the sidebar sits outside every landmark (axe "region", moderate): it
  // links home, so it belongs to the site's navigation.
  document.querySelectorAll(".bd-sidebar-primary .navbar-brand").forEach((brand) => {
    const item = brand.closest(".sidebar-primary-item");
    if (item && !item.hasAttribute("role")) {
      item.setAttribute("role", "navigation");
      item.setAttribute("aria-label", "Home");
    }
  });
}
document.addEventListener("DOMContentLoaded", repairAccessibility);
window.addEventListener("load", repairAccessibility);
