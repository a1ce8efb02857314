//! Renders Helm charts as helm template does
