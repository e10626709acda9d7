// What a first visit's page failed to load before the service worker took control (its origin down, or
// refusing it) is asked for again once the worker controls the page: it may come from peers now.

/**
 * A page of a first visit loaded before the service worker took control: its images, stylesheets and
 * media that failed (an origin that is down or refuses them) are asked for again, through the service
 * worker now — from peers if need be. Those still loading are asked again if they fail.
 */
export function repairOnControl() {
  const sw = navigator.serviceWorker;
  const again = () => {
    for (const img of document.images) {
      if (img.complete && img.naturalWidth === 0) reloadImage(img);
      else if (!img.complete) img.addEventListener('error', () => reloadImage(img), { once: true });
    }
    for (const l of /** @type {NodeListOf<HTMLLinkElement>} */ (document.querySelectorAll('link[rel~="stylesheet"]'))) {
      const reload = () => l.replaceWith(/** @type {HTMLLinkElement} */ (l.cloneNode()));
      if (!l.sheet) l.addEventListener('error', reload, { once: true }); // still loading
      else if (emptySheet(l.sheet)) reload(); // a failed load leaves an empty sheet
    }
    for (const v of /** @type {NodeListOf<HTMLMediaElement>} */ (document.querySelectorAll('video, audio'))) {
      if (v.error) v.load();
    }
  };
  if (!sw.controller) sw.addEventListener('controllerchange', again, { once: true });
}

/** Whether a same-origin stylesheet has no rule (a cross-origin one cannot be read: left alone). @param {CSSStyleSheet} sheet */
function emptySheet(sheet) {
  try {
    return sheet.cssRules.length === 0;
  } catch {
    return false;
  }
}

/** @param {HTMLImageElement} img */
function reloadImage(img) {
  const src = img.getAttribute('src');
  const set = img.getAttribute('srcset');
  if (set !== null) { img.removeAttribute('srcset'); img.setAttribute('srcset', set); }
  if (src !== null) { img.removeAttribute('src'); img.setAttribute('src', src); }
}
