"""Presentation: text, Markdown, CSV, comparison and sweep reports, and plots (number formats:
anethru.units). Importing it registers the renderers behind results' str(), to_markdown() and
plot() (anethru.results.views)."""

from anethru.report import compare, markdown, plot, sweep, text
from anethru.results.views import register

register("ceiling", "text", text.format_result)
register("ceiling", "markdown", markdown.format_markdown)
register("ceiling", "headline", text.headline)
register("comparison", "text", compare.format_comparison)
register("comparison", "markdown", compare.format_comparison_markdown)
register("sweep", "text", sweep.format_sweep)
register("document", "plot", plot.plot_documents)
