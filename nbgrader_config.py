"""nbgrader configuration of the course.

Run nbgrader from the repository root (or from a course folder holding a copy of
this file). Every path here is relative to that folder, so a fork works anywhere.
"""

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "regcourse"
# The instructor's notebooks, with solutions and hidden tests ...
c.CourseDirectory.source_directory = "solutions"
# ... and the student versions nbgrader generates from them (committed).
c.CourseDirectory.release_directory = "exercises"

# Every graded cell of the course runs in well under a second; 30 s per cell
# stops an infinite loop without punishing a slow but correct answer.
c.Execute.timeout = 30
# A collect leaves a submission that is still being copied in for the next collect
# (nbgrader's own would copy it half-written).
c.ExchangeFactory.collect = "regcourse.grading.collect.FinishedSubmissionsCollect"
# A learner who edits or deletes a test cell gets it back from the source.
c.OverwriteCells.add_missing_cells = True

# Feedback shows the points and each failing test's message, never the hidden tests
# (FEEDBACK_STEPS says how), and is nbgrader's page without MathJax from a CDN: the
# course's template folder, searched first, replaces only the macro that would load it.
from regcourse.grading.feedback import FEEDBACK_STEPS, template_dirs  # noqa: E402

c.GenerateFeedback.preprocessors = FEEDBACK_STEPS
c.HTMLExporter.extra_template_basedirs = template_dirs()

# Everything a submission shows is the learner's: its Markdown and its outputs reach the
# formgrader and the feedback pages, on the hub's origin. Nothing of it may run there:
# sanitize_html leaves JavaScript and widget outputs out and draws SVG as an image; the
# course's filters keep text, maths, tables and pictures and drop the rest, in outputs and
# in Markdown cells, which nbgrader's templates render without asking to sanitize.
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = {
    "clean_html": "regcourse.grading.safe_html.clean_html",
    "markdown2html": "regcourse.grading.safe_html.markdown_html",
}
