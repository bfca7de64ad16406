// Starts Swagger UI on this server's /openapi.json. A file, not an inline script: the CSP allows 'self' only.
"use strict";

window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout", // no top bar with a URL field: this page documents this server only
  deepLinking: true,
  validatorUrl: null, // never send the description to an outside validator (no external request)
  displayRequestDuration: true,
  defaultModelsExpandDepth: 0,
  presets: [SwaggerUIBundle.presets.apis],
});
