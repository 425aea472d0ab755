// Entry of the browser bundle of JsSIP (npm jssip ships CommonJS only, no dist/): scripts/install.sh bundles
// it with esbuild into web/static/vendor/jssip/jssip.min.js, served by the platform for the console's phone.
window.JsSIP = require("jssip");
