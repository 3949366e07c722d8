#pragma once
// Another metric's table of the same prompts and images, put on a table's rows and candidates:
// row i of the result is the row of `other` with the id of row i of `primary`. Fails naming
// `other`'s file and the first id it lacks, or a candidate it lacks.
#include "catimage/io/quality_table.hpp"

namespace catimage {

QualityTable aligned_to(const QualityTable& other, const QualityTable& primary);

}  // namespace catimage
