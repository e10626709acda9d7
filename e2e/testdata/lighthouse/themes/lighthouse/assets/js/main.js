// lighthouse theme: search over the JSON index, and the theme's service worker for offline reading.
document.addEventListener('DOMContentLoaded', () => {
  const hits = document.getElementById('hits');
  if (!hits) return;
  fetch(document.body.dataset.index)
    .then((r) => r.json())
    .then((pages) => { hits.textContent = pages.length + ' pages indexed'; })
    .catch(() => { hits.textContent = 'search unavailable'; });
});
if ('serviceWorker' in navigator) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('{{ "sw.js" | relURL }}', { scope: '{{ "" | relURL }}' })
      .then((reg) => { window.lighthouseSW = reg; })
      .catch((err) => console.warn('lighthouse: no offline reading', err));
  });
}
