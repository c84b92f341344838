// A little script to make the pages nicer; every page works without it.
"use strict";

// Sortable tables: a column's header link sorts the rows here instead of asking the server again.
function sortTable(table, column, link) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const header = link.closest("th");
  const descending = header.getAttribute("aria-sort") !== "descending";
  const value = (row) => {
    const cell = row.cells[column];
    const raw = cell.dataset.value;
    return raw === undefined ? cell.textContent.trim().toLowerCase() : raw === "" ? null : Number(raw);
  };
  rows.sort((a, b) => {
    const x = value(a), y = value(b);
    if (x === y) return 0;
    if (x === null) return 1;  // no value: last, whichever the order
    if (y === null) return -1;
    return (x < y ? -1 : 1) * (descending ? -1 : 1);
  });
  rows.forEach((row) => body.appendChild(row));
  table.querySelectorAll("th[aria-sort]").forEach((th) => th.removeAttribute("aria-sort"));
  header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  history.replaceState(null, "", link.href);
}

document.querySelectorAll("table.sortable").forEach((table) => {
  table.querySelectorAll("th a[data-sort]").forEach((link) => {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      sortTable(table, Number(link.dataset.sort), link);
    });
  });
});

// The compare form: a new scale or alignment redraws at once (the Compare button still works).
document.querySelectorAll("form.compare input[type=radio]").forEach((radio) => {
  radio.addEventListener("change", () => radio.form.requestSubmit());
});

// Copy buttons beside the embed snippets (shown only when there is a clipboard to copy to).
document.querySelectorAll("button.copy").forEach((button) => {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    await navigator.clipboard.writeText(source.value.trim());
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  });
});
